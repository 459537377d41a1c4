//! The compact form against JSON, the model it must carry exactly.

use super::names::NAMES;
use super::*;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn name(n: &str) -> u8 {
    NAME + NAMES.iter().position(|x| *x == n).expect("a listed name") as u8
}

/// The format, byte by byte, on a small record: names as one byte, a
/// repeated string as a reference to its first writing, small numbers as
/// one byte, larger ones LEB128.
#[test]
fn a_small_record_byte_by_byte() {
    let value =
        json!({"id": "+2348000", "phone": "+2348000", "v": 2, "seq": 300, "x": [true, null, -2]});
    let bytes = to_vec(&[], &value).unwrap();
    let mut expected = vec![MAP, name("id"), STR, 8];
    expected.extend_from_slice(b"+2348000");
    expected.extend_from_slice(&[name("phone"), REF, 0, name("seq"), UINT, 0xac, 0x02]);
    expected.extend_from_slice(&[
        name("v"),
        SMALL + 2,
        STR,
        1,
        b'x',
        SEQ,
        TRUE,
        NULL,
        NINT,
        1,
        END,
        END,
    ]);
    assert_eq!(bytes, expected);
    assert_eq!(from_slice::<Value>(&bytes).unwrap(), value);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Finite only: JSON has no other numbers.
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        // Listed names, strings repeated within a record, and any other.
        prop::sample::select(NAMES).prop_map(Value::from),
        prop::sample::select(vec!["+2348000000", "sandbox-bank", "abc"]).prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,12}|first|phone", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What serde's attributes make of a type (internally tagged, untagged
/// and externally tagged enums of every kind, flattened fields, skipped
/// fields, non-string map keys), as the flow's snapshot uses them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Shapes {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    maybe: Option<u32>,
    call: Tagged,
    external: Vec<External>,
    #[serde(flatten)]
    flat: Flat,
    either: Untagged,
    pairs: Vec<(String, i8)>,
    keyed: BTreeMap<u32, char>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
enum Tagged {
    List,
    Create { institution: String, live: bool },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum External {
    Unit,
    Newtype(u64),
    Tuple(String, Option<i64>),
    Struct { a: Vec<u8>, b: f32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Flat {
    flat_a: u16,
    #[serde(default)]
    flat_b: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Number(u64),
    Text(String),
    Pair { left: String, right: bool },
}

fn shapes() -> impl Strategy<Value = Shapes> {
    let tagged = prop_oneof![
        Just(Tagged::List),
        (".{0,12}", any::<bool>())
            .prop_map(|(institution, live)| Tagged::Create { institution, live }),
    ];
    let external = prop_oneof![
        Just(External::Unit),
        any::<u64>().prop_map(External::Newtype),
        (".{0,8}", any::<Option<i64>>()).prop_map(|(s, n)| External::Tuple(s, n)),
        (any::<Vec<u8>>(), -1e6f32..1e6).prop_map(|(a, b)| External::Struct { a, b }),
    ];
    let untagged = prop_oneof![
        any::<u64>().prop_map(Untagged::Number),
        "[a-z]{0,8}".prop_map(Untagged::Text),
        ("[a-z]{0,8}", any::<bool>()).prop_map(|(left, right)| Untagged::Pair { left, right }),
    ];
    (
        (
            ".{0,16}",
            any::<Option<String>>(),
            any::<Option<u32>>(),
            tagged,
        ),
        prop::collection::vec(external, 0..4),
        (
            any::<u16>(),
            prop::collection::vec("sandbox-bank|.{0,6}", 0..3),
        ),
        untagged,
        prop::collection::vec((".{0,6}", any::<i8>()), 0..3),
        prop::collection::btree_map(any::<u32>(), any::<char>(), 0..3),
    )
        .prop_map(
            |((id, skipped, maybe, call), external, (flat_a, flat_b), either, pairs, keyed)| {
                Shapes {
                    id,
                    skipped,
                    maybe,
                    call,
                    external,
                    flat: Flat { flat_a, flat_b },
                    either,
                    pairs,
                    keyed,
                }
            },
        )
}

proptest! {
    /// Any JSON value comes back as itself, and its JSON view is the
    /// JSON serde_json writes for it, byte for byte.
    #[test]
    fn any_json_value_round_trips(value in json_value()) {
        let bytes = to_vec(&[], &value).unwrap();
        prop_assert_eq!(&from_slice::<Value>(&bytes).unwrap(), &value);
        prop_assert_eq!(to_json(&bytes).unwrap(), serde_json::to_vec(&value).unwrap());
    }

    /// A type with every serde shape the records use round-trips, and its
    /// JSON view is its JSON: the compact form and JSON are one data model,
    /// so a record reads the same whichever way it was stored.
    #[test]
    fn every_serde_shape_round_trips_as_in_json(shapes in shapes()) {
        let bytes = to_vec(&[], &shapes).unwrap();
        prop_assert_eq!(&from_slice::<Shapes>(&bytes).unwrap(), &shapes);
        let view = to_json(&bytes).unwrap();
        // Both sides read back from JSON text: serde_json's default float
        // parser may land a decimal one unit in the last place off the
        // float it was written from (the regression file's case: an `f32`,
        // kept as the `f64` it widens to, -929.8199462890625, reads back
        // as ...624), so the view is compared with the type's JSON value
        // (its `f32`s widened, as the compact form keeps them) written and
        // parsed the same way.
        let json = serde_json::to_vec(&serde_json::to_value(&shapes).unwrap()).unwrap();
        prop_assert_eq!(
            serde_json::from_slice::<Value>(&view).unwrap(),
            serde_json::from_slice::<Value>(&json).unwrap()
        );
        prop_assert_eq!(&serde_json::from_slice::<Shapes>(&view).unwrap(), &shapes);
    }

    /// Bad bytes (anything, or a valid record cut or with a byte changed)
    /// are an error or some value, never a panic.
    #[test]
    fn bad_bytes_never_panic(
        value in json_value(),
        noise in prop::collection::vec(any::<u8>(), 0..64),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let _ = from_slice::<Value>(&noise);
        let _ = to_json(&noise);
        let mut bytes = to_vec(&[], &value).unwrap();
        let i = at.index(bytes.len());
        let _ = from_slice::<Value>(&bytes[..i]);
        bytes[i] = byte;
        let _ = from_slice::<Shapes>(&bytes);
        let _ = to_json(&bytes);
    }
}

#[test]
fn hostile_bytes_are_errors() {
    // Nesting past any record's: an error, not a stack overflow.
    assert!(from_slice::<Value>(&[SEQ; 100_000]).is_err());
    assert!(to_json(&[MAP; 100_000]).is_err());
    // A length past the bytes, an integer past 64 bits, a reference to a
    // string not read, a tag no build writes, a string that is not UTF-8.
    assert!(from_slice::<Value>(&[STR, 0xff, 0xff, 0xff, 0x0f, b'a']).is_err());
    assert!(from_slice::<Value>(&[
        UINT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
    ])
    .is_err());
    assert!(from_slice::<Value>(&[REF, 0]).is_err());
    assert!(from_slice::<Value>(&[END]).is_err());
    assert!(from_slice::<Value>(&[STR, 2, 0xc3, 0x28]).is_err());
    // u64::MAX itself is fine.
    let max = to_vec(&[], &u64::MAX).unwrap();
    assert_eq!(from_slice::<u64>(&max).unwrap(), u64::MAX);
    assert_eq!(
        from_slice::<i64>(&to_vec(&[], &i64::MIN).unwrap()).unwrap(),
        i64::MIN
    );
}

/// Two bytes can name a long string again: a record of many such
/// references is refused once they repeat more than a record holds,
/// before a reader copies them all out.
#[test]
fn references_cannot_blow_a_record_up() {
    let long = "x".repeat(1000);
    let mut bytes = vec![SEQ, STR, 0xe8, 0x07];
    bytes.extend_from_slice(long.as_bytes());
    // 262 references repeat 262,000 bytes: within the cap; one more is not.
    bytes.extend(std::iter::repeat_n([REF, 0], 262).flatten());
    bytes.push(END);
    assert_eq!(from_slice::<Vec<String>>(&bytes).unwrap().len(), 263);
    bytes.pop();
    bytes.extend_from_slice(&[REF, 0, END]);
    assert!(from_slice::<Vec<String>>(&bytes).is_err());
    assert!(to_json(&bytes).is_err());
}

/// The writer holds itself to the same limit: a value repeating a long
/// string past it is written with full copies, and reads back.
#[test]
fn every_record_written_is_read_however_it_repeats() {
    let value = vec!["y".repeat(1000); 300];
    let bytes = to_vec(&[], &value).unwrap();
    assert_eq!(from_slice::<Vec<String>>(&bytes).unwrap(), value);
    assert!(bytes.len() > 300_000 - 262_144, "{} bytes", bytes.len());
}

/// As deep as serde_json reads and no deeper: whatever is read here has a
/// JSON view serde_json reads back.
#[test]
fn nesting_stops_where_json_does() {
    let nested = |depth: usize| [vec![SEQ; depth], vec![END; depth]].concat();
    let view = to_json(&nested(127)).unwrap();
    assert!(serde_json::from_slice::<Value>(&view).is_ok());
    assert!(from_slice::<Value>(&nested(127)).is_ok());
    assert!(from_slice::<Value>(&nested(128)).is_err());
    assert!(to_json(&nested(128)).is_err());
}

/// A name this build does not know is an error even where the reader
/// skips the value (a field the type ignores), as in the JSON view.
#[test]
fn an_unknown_name_is_an_error_even_when_skipped() {
    #[derive(Debug, Deserialize)]
    struct Id {
        #[allow(dead_code)]
        id: u8,
    }
    let unknown = NAME + NAMES.len() as u8;
    let known = [MAP, name("id"), SMALL + 1, name("phone"), name("flow"), END];
    assert!(from_slice::<Id>(&known).is_ok());
    let mut bytes = known;
    bytes[4] = unknown;
    assert!(from_slice::<Id>(&bytes).is_err());
    assert!(to_json(&bytes).is_err());
}

/// 128-bit integers are kept as serde_json keeps them: within 64 bits.
#[test]
fn wide_integers_within_64_bits() {
    let bytes = to_vec(&[], &(i128::from(i64::MIN), u128::from(u64::MAX))).unwrap();
    assert_eq!(
        from_slice::<(i128, u128)>(&bytes).unwrap(),
        (i128::from(i64::MIN), u128::from(u64::MAX))
    );
    assert!(to_vec(&[], &(u128::from(u64::MAX) + 1)).is_err());
    assert!(to_vec(&[], &(i128::from(i64::MIN) - 1)).is_err());
}
