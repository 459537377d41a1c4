//! The RESP reader against the redis crate's own parser, and the writer
//! against the crate's own encoder.

use proptest::prelude::*;
use redis::Value;

use super::{parse, read, write_command, Malformed, Read, MAX_DEPTH};

/// A reply as a RESP2 server writes it.
fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Nil => out.extend_from_slice(b"$-1\r\n"),
        Value::Okay => out.extend_from_slice(b"+OK\r\n"),
        Value::SimpleString(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
        Value::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
        Value::BulkString(b) => {
            out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Value::Array(items) => {
            out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
            for item in items {
                encode(item, out);
            }
        }
        Value::ServerError(e) => {
            let line = match e.details() {
                Some(detail) => format!("-{} {detail}\r\n", e.code()),
                None => format!("-{}\r\n", e.code()),
            };
            out.extend_from_slice(line.as_bytes());
        }
        other => unreachable!("not RESP2: {other:?}"),
    }
}

/// A line's text: no CR or LF, as a status line cannot hold them.
fn line_text() -> impl Strategy<Value = String> {
    "[ -~]{0,24}"
}

fn server_error() -> impl Strategy<Value = Value> {
    let code = prop_oneof![
        Just("ERR".to_owned()),
        Just("NOSCRIPT".to_owned()),
        Just("WRONGTYPE".to_owned()),
        Just("LOADING".to_owned()),
        "[A-Z]{1,10}",
    ];
    (code, proptest::option::of("[!-~][ -~]{0,30}")).prop_map(|(code, detail)| {
        let mut line = code;
        if let Some(detail) = detail {
            line.push(' ');
            line.push_str(&detail);
        }
        redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).unwrap()
    })
}

fn reply() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        Just(Value::Okay),
        line_text()
            .prop_filter("+OK is Okay", |s| s != "OK")
            .prop_map(Value::SimpleString),
        any::<i64>()
            .prop_filter("the crate's bound", |n| *n != i64::MIN)
            .prop_map(Value::Int),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Value::BulkString),
        server_error(),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        proptest::collection::vec(inner, 0..6).prop_map(Value::Array)
    })
}

proptest! {
    /// Every RESP2 reply reads as the crate's parser reads it, taking all
    /// its bytes; every strict prefix of it reads as "not yet" (so a reply
    /// split across reads is waited for, never misread).
    #[test]
    fn replies_read_as_the_crate_reads_them(value in reply()) {
        let mut bytes = Vec::new();
        encode(&value, &mut bytes);
        let theirs = redis::parse_redis_value(&bytes).unwrap();
        prop_assert_eq!(&theirs, &value);
        prop_assert_eq!(parse(&bytes), Ok(Some((value, bytes.len()))));
        for cut in 0..bytes.len() {
            prop_assert_eq!(parse(&bytes[..cut]), Ok(None), "prefix of {}", cut);
        }
    }

    /// A strict prefix of a reply asks for more than it holds and no more
    /// than the whole reply: the reader waits for the bytes it needs (a
    /// long bulk string is read once, when it has all come) and never
    /// waits past a reply's end for bytes that may never come.
    #[test]
    fn a_partial_reply_asks_for_no_more_than_the_reply(value in reply(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut bytes = Vec::new();
        encode(&value, &mut bytes);
        let whole = bytes.len();
        for cut in 0..whole {
            match read(&bytes[..cut]) {
                Ok(Read::Partial { need }) => {
                    prop_assert!(need > cut, "cut {}: need {}", cut, need);
                    prop_assert!(need <= whole, "cut {}: need {} past {}", cut, need, whole);
                }
                other => prop_assert!(false, "cut {}: {:?}", cut, other),
            }
        }
        // Whatever follows it (the next reply, part of one) is not taken.
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(read(&bytes), Ok(Read::Reply(value, whole)));
    }

    /// Two replies back to back (a pipeline's) read one at a time, each
    /// taking its own bytes only.
    #[test]
    fn pipelined_replies_read_one_at_a_time(a in reply(), b in reply()) {
        let mut bytes = Vec::new();
        encode(&a, &mut bytes);
        let first = bytes.len();
        encode(&b, &mut bytes);
        prop_assert_eq!(parse(&bytes), Ok(Some((a, first))));
        prop_assert_eq!(parse(&bytes[first..]), Ok(Some((b, bytes.len() - first))));
    }

    /// Whatever a server (or something else on its port) sends, reading it
    /// never panics and never claims more bytes than it was given; what it
    /// reads as a reply, the crate's parser reads the same.
    #[test]
    fn any_bytes_are_a_reply_an_error_or_not_yet(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        if let Ok(Some((value, used))) = parse(&bytes) {
            prop_assert!(used <= bytes.len());
            prop_assert_eq!(redis::parse_redis_value(&bytes[..used]).ok(), Some(value));
        }
    }

    /// A command is written byte for byte as the crate packs it.
    #[test]
    fn commands_are_written_as_the_crate_packs_them(
        args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8),
    ) {
        let mut cmd = redis::Cmd::new();
        for arg in &args {
            cmd.arg(&arg[..]);
        }
        let mut ours = b"leading bytes kept".to_vec();
        write_command(&mut ours, &cmd);
        prop_assert_eq!(&ours[..18], b"leading bytes kept");
        prop_assert_eq!(&ours[18..], &cmd.get_packed_command()[..]);
    }
}

#[test]
fn script_and_type_errors_keep_the_kinds_the_crate_acts_on() {
    let error = |bytes: &[u8]| -> redis::RedisError {
        match parse(bytes) {
            Ok(Some((Value::ServerError(e), used))) if used == bytes.len() => e.into(),
            other => panic!("{other:?}"),
        }
    };
    // A script the server has not seen loads itself on this kind.
    let e = error(b"-NOSCRIPT No matching script.\r\n");
    assert_eq!(e.kind(), redis::ErrorKind::NoScriptError);
    // A record of the hash format is known by this code.
    let e = error(b"-WRONGTYPE Operation against a key\r\n");
    assert_eq!(e.code(), Some("WRONGTYPE"));
    assert_eq!(error(b"-ERR\r\n").kind(), redis::ErrorKind::ResponseError);
}

#[test]
fn malformed_replies_are_refused() {
    for bytes in [
        &b"?what\r\n"[..],
        b":12a\r\n",
        b":\r\n",
        b"$3\r\nabcXY",
        b"$-2\r\n",
        b"*-5\r\n",
        b"+OK\rX",
        b":99999999999999999999\r\n",
    ] {
        assert!(
            parse(bytes).is_err(),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    // Deeper than any reply the store asks for.
    let deep = "*1\r\n".repeat(MAX_DEPTH + 1) + ":1\r\n";
    assert_eq!(
        parse(deep.as_bytes()),
        Err(Malformed("arrays nested too deep"))
    );
    // A length past the bound is refused before its bytes come.
    assert_eq!(
        parse(format!("${}\r\n", super::MAX_REPLY + 1).as_bytes()),
        Err(Malformed("a reply too large"))
    );
    // Nor is an array whose strings, each within it, pass it together:
    // refused when the second's length comes, before its bytes.
    let n = super::MAX_REPLY - 100;
    let mut two = format!("*2\r\n${n}\r\n").into_bytes();
    two.resize(two.len() + n, b'x');
    two.extend_from_slice(format!("\r\n${n}\r\n").as_bytes());
    assert_eq!(read(&two), Err(Malformed("a reply too large")));
    // One that fits is waited for, its whole length asked for at once.
    assert_eq!(
        read(format!("${n}\r\n").as_bytes()),
        Ok(Read::Partial {
            need: n + format!("${n}\r\n").len() + 2
        })
    );
    // An array's announced length reserves nothing it has not read.
    assert_eq!(parse(b"*1000000000\r\n:1\r\n"), Ok(None));
}

/// Lengths on each side of the decimal writer's short cuts (one, two and
/// three digits) are written as the crate writes them.
#[test]
fn lengths_of_every_digit_count_are_written_as_the_crate_packs_them() {
    for len in [0usize, 9, 10, 99, 100, 999, 1000, 12_345, 1_000_000] {
        let mut cmd = redis::Cmd::new();
        cmd.arg("SET")
            .arg(vec![b'x'; len])
            .arg(len as u64)
            .arg(u64::MAX);
        let mut ours = Vec::new();
        write_command(&mut ours, &cmd);
        assert_eq!(ours, cmd.get_packed_command(), "{len}");
    }
}
